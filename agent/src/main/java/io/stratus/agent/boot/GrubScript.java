package io.stratus.agent.boot;

import java.util.ArrayList;
import java.util.List;

/**
 * GRUB's script language as far as a grub.cfg's menu needs it: words (single quotes, double
 * quotes, backslashes, {@code $name} and {@code ${name}} references, comments), commands separated
 * by newlines and semicolons, and {@code { ... }} blocks after a command (menuentry, submenu,
 * function). {@code if}/{@code for}/{@code while} stay plain commands: {@link GrubConfig} tracks
 * them by their keywords. Malformed text (an unterminated quote or block, nesting deeper than
 * {@link #MAX_DEPTH}) is refused.
 */
final class GrubScript {
    static final int MAX_DEPTH = 16;
    private static final int MAX_WORDS = 4096;

    /** A piece of a word: literal text, or a variable reference; {@code quoted} inside double quotes. */
    record Part(String text, boolean variable, boolean quoted) {
    }

    /** A word as written: its parts, and whether any of it was quoted (an empty "" is still a word). */
    record Word(List<Part> parts, boolean quoted) {
        /** The word's text when it holds no variable reference, else null. */
        String literal() {
            StringBuilder b = new StringBuilder();
            for (Part p : parts) {
                if (p.variable()) {
                    return null;
                }
                b.append(p.text());
            }
            return b.toString();
        }

        boolean references(String variable) {
            return parts.stream().anyMatch(p -> p.variable() && p.text().equals(variable));
        }
    }

    /** A command's words, and the block that followed it ({@code menuentry ... { body }}), or null. */
    record Command(List<Word> words, List<Command> block, int line) {
        String name() {
            return words.isEmpty() ? "" : String.valueOf(words.get(0).literal());
        }
    }

    private final String text;
    private int pos;
    private int line = 1;

    private GrubScript(String text) {
        this.text = text;
    }

    /** The commands of {@code text}, top level first. */
    static List<Command> parse(String text) {
        GrubScript s = new GrubScript(text);
        List<Command> commands = s.commands(0);
        if (s.pos < s.text.length()) {
            throw s.fail("'}' without a block to close");
        }
        return commands;
    }

    /** Commands up to the end of the text, or to the '}' that closes the block at {@code depth}. */
    private List<Command> commands(int depth) {
        List<Command> out = new ArrayList<>();
        List<Word> words = new ArrayList<>();
        int startLine = line;
        while (true) {
            skipBlanks();
            if (pos >= text.length()) {
                if (depth > 0) {
                    throw fail("a block opened with '{' is not closed");
                }
                flush(out, words, null, startLine);
                return out;
            }
            char c = text.charAt(pos);
            if (c == '#') {
                while (pos < text.length() && text.charAt(pos) != '\n') {
                    pos++;
                }
            } else if (c == '\n' || c == ';') {
                pos++;
                if (c == '\n') {
                    line++;
                }
                flush(out, words, null, startLine);
                words = new ArrayList<>();
                startLine = line;
            } else if (c == '{') {
                pos++;
                if (depth + 1 > MAX_DEPTH) {
                    throw fail("blocks nest deeper than " + MAX_DEPTH);
                }
                List<Command> block = commands(depth + 1);
                flush(out, words, block, startLine);
                words = new ArrayList<>();
                startLine = line;
            } else if (c == '}') {
                if (depth == 0) {
                    return done(out, words, startLine);
                }
                pos++;
                return done(out, words, startLine);
            } else {
                if (words.size() == MAX_WORDS) {
                    throw fail("a command has more than " + MAX_WORDS + " words");
                }
                words.add(word());
            }
        }
    }

    private static List<Command> done(List<Command> out, List<Word> words, int line) {
        flush(out, words, null, line);
        return out;
    }

    private static void flush(List<Command> out, List<Word> words, List<Command> block, int line) {
        if (!words.isEmpty() || block != null) {
            out.add(new Command(List.copyOf(words), block == null ? null : List.copyOf(block), line));
        }
    }

    private void skipBlanks() {
        while (pos < text.length()) {
            char c = text.charAt(pos);
            if (c == ' ' || c == '\t' || c == '\r') {
                pos++;
            } else if (c == '\\' && pos + 1 < text.length() && text.charAt(pos + 1) == '\n') {
                pos += 2;
                line++;
            } else {
                return;
            }
        }
    }

    private Word word() {
        List<Part> parts = new ArrayList<>();
        StringBuilder lit = new StringBuilder();
        boolean quoted = false;
        while (pos < text.length()) {
            char c = text.charAt(pos);
            if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' || c == '{' || c == '}') {
                break;
            }
            if (c == '\'') {
                quoted = true;
                int end = text.indexOf('\'', pos + 1);
                if (end < 0) {
                    throw fail("a single quote is not closed");
                }
                String inside = text.substring(pos + 1, end);
                line += (int) inside.chars().filter(ch -> ch == '\n').count();
                flushLiteral(parts, lit, false);
                parts.add(new Part(inside, false, true));
                pos = end + 1;
            } else if (c == '"') {
                quoted = true;
                flushLiteral(parts, lit, false);
                doubleQuoted(parts);
            } else if (c == '\\') {
                if (pos + 1 >= text.length()) {
                    pos++;
                } else if (text.charAt(pos + 1) == '\n') {
                    pos += 2;
                    line++;
                } else {
                    lit.append(text.charAt(pos + 1));
                    pos += 2;
                }
            } else if (c == '$' && variableFollows()) {
                flushLiteral(parts, lit, false);
                parts.add(new Part(variable(), true, false));
            } else {
                lit.append(c);
                pos++;
            }
        }
        flushLiteral(parts, lit, false);
        return new Word(List.copyOf(parts), quoted);
    }

    private void doubleQuoted(List<Part> parts) {
        int start = line;
        pos++;
        StringBuilder lit = new StringBuilder();
        while (true) {
            if (pos >= text.length()) {
                line = start;
                throw fail("a double quote is not closed");
            }
            char c = text.charAt(pos);
            if (c == '"') {
                pos++;
                flushLiteral(parts, lit, true);
                return;
            }
            if (c == '\\' && pos + 1 < text.length() && "$\"\\\n".indexOf(text.charAt(pos + 1)) >= 0) {
                if (text.charAt(pos + 1) == '\n') {
                    line++;
                } else {
                    lit.append(text.charAt(pos + 1));
                }
                pos += 2;
            } else if (c == '$' && variableFollows()) {
                flushLiteral(parts, lit, true);
                parts.add(new Part(variable(), true, true));
            } else {
                if (c == '\n') {
                    line++;
                }
                lit.append(c);
                pos++;
            }
        }
    }

    private boolean variableFollows() {
        if (pos + 1 >= text.length()) {
            return false;
        }
        char n = text.charAt(pos + 1);
        return n == '{' || Character.isLetterOrDigit(n) || n == '_' || n == '?' || n == '#' || n == '@' || n == '*';
    }

    private String variable() {
        pos++;
        if (text.charAt(pos) == '{') {
            int end = text.indexOf('}', pos);
            if (end < 0) {
                throw fail("a ${ is not closed");
            }
            String name = text.substring(pos + 1, end);
            pos = end + 1;
            return name;
        }
        char first = text.charAt(pos);
        if (!Character.isLetter(first) && first != '_') {
            pos++;
            return String.valueOf(first);
        }
        int start = pos;
        while (pos < text.length() && (Character.isLetterOrDigit(text.charAt(pos)) || text.charAt(pos) == '_')) {
            pos++;
        }
        return text.substring(start, pos);
    }

    private static void flushLiteral(List<Part> parts, StringBuilder lit, boolean quoted) {
        if (lit.length() > 0 || quoted) {
            parts.add(new Part(lit.toString(), false, quoted));
            lit.setLength(0);
        }
    }

    private NotBootableException fail(String why) {
        return new NotBootableException("grub.cfg line " + line + ": " + why);
    }
}
