package io.stratus.agent.boot;

import io.stratus.agent.boot.GrubScript.Command;
import io.stratus.agent.boot.GrubScript.Part;
import io.stratus.agent.boot.GrubScript.Word;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The menu of a grub.cfg and the entry GRUB would boot by default, read as GRUB would without
 * running it: the top-level {@code menuentry} and {@code submenu} blocks in order (entries inside
 * {@code if}, {@code for} or {@code function} depend on how GRUB runs and are left out, such as
 * the "UEFI Firmware Settings" entry), {@code set default=} (the last one with a literal value; a
 * number, a title or an id, {@code >}-separated through submenus; {@code saved} and
 * {@code ${saved_entry}} are the first entry, since there is no grubenv to read), and the entry's
 * {@code linux}/{@code linuxefi}/{@code linux16} and {@code initrd} commands, with variables
 * set in the file expanded. A default that names no entry is the first one, as in GRUB.
 */
final class GrubConfig {
    static final int MAX_BYTES = 1 << 20;
    private static final int MAX_ITEMS = 1024;
    private static final Set<String> OPTIONS_WITH_VALUE = Set.of("--class", "--users", "--hotkey", "--id");
    private static final Set<String> LINUX = Set.of("linux", "linuxefi", "linux16");
    private static final Set<String> INITRD = Set.of("initrd", "initrdefi", "initrd16");
    private static final Set<String> OPENS = Set.of("if", "for", "while", "until");
    private static final Set<String> CLOSES = Set.of("fi", "done");
    private static final Set<String> LEADS = Set.of("then", "else", "do");

    /**
     * The entry chosen.
     *
     * @param title   its title, submenus first ("Advanced options for Debian GNU/Linux>Debian GNU/Linux, with ...")
     * @param kernel  the kernel's path on the filesystem grub.cfg is on (a GRUB device prefix dropped)
     * @param args    the kernel's arguments, as GRUB passes them
     * @param initrds the initrd paths in order (GRUB concatenates them), none for an entry without initrd
     */
    record Entry(String title, String kernel, List<String> args, List<String> initrds) {
    }

    private record Item(String title, Optional<String> id, List<Command> body, boolean submenu) {
    }

    private final Map<String, String> variables = new HashMap<>();
    private String defaultEntry = "0";

    private GrubConfig() {
        // GRUB 2 sets it to "--id" where menuentry ids are supported, which is every GRUB 2 since 2.00.
        variables.put("menuentry_id_option", "--id");
    }

    /**
     * The default entry of the grub.cfg {@code text}.
     *
     * @throws NotBootableException the text is malformed, has no menu entries, or the default
     *     entry boots no Linux kernel
     */
    static Entry defaultEntry(String text) {
        GrubConfig config = new GrubConfig();
        List<Item> items = config.menu(GrubScript.parse(text), true);
        if (items.isEmpty()) {
            throw new NotBootableException("grub.cfg has no menu entries (BootLoaderSpec entries, blscfg, are not"
                    + " read)");
        }
        return config.choose(items);
    }

    /** The menu items of {@code commands}; at the top level, the assignments are recorded too. */
    private List<Item> menu(List<Command> commands, boolean topLevel) {
        List<Item> items = new ArrayList<>();
        int depth = 0;
        for (Command c : commands) {
            List<Word> words = withoutLeadingKeywords(c.words());
            String name = words.isEmpty() ? "" : String.valueOf(words.get(0).literal());
            if (OPENS.contains(name)) {
                depth++;
            } else if (CLOSES.contains(name)) {
                depth = Math.max(0, depth - 1);
            } else if ((name.equals("menuentry") || name.equals("submenu")) && c.block() != null) {
                if (depth == 0) {
                    if (items.size() == MAX_ITEMS) {
                        throw new NotBootableException("grub.cfg has more than " + MAX_ITEMS + " menu items");
                    }
                    items.add(item(words, c.block(), name.equals("submenu"), c.line()));
                }
            } else if (topLevel && c.block() == null) {
                assign(words, variables, true);
            }
        }
        return items;
    }

    /** A command's words without a leading then/else/do: "then set x=1" is "set x=1" at run time. */
    private static List<Word> withoutLeadingKeywords(List<Word> words) {
        int i = 0;
        while (i < words.size() && LEADS.contains(String.valueOf(words.get(i).literal()))) {
            i++;
        }
        return words.subList(i, words.size());
    }

    /** Records {@code set name=value} and {@code name=value} into {@code vars}. */
    private void assign(List<Word> words, Map<String, String> vars, boolean topLevel) {
        if (words.isEmpty()) {
            return;
        }
        Word w;
        if ("set".equals(words.get(0).literal()) && words.size() == 2) {
            w = words.get(1);
        } else if (words.size() == 1) {
            w = words.get(0);
        } else {
            return;
        }
        if (w.parts().isEmpty() || w.parts().get(0).variable()) {
            return;
        }
        String head = w.parts().get(0).text();
        int eq = head.indexOf('=');
        if (eq <= 0 || !head.substring(0, eq).matches("[A-Za-z_][A-Za-z0-9_]*")) {
            return;
        }
        String name = head.substring(0, eq);
        List<Part> valueParts = new ArrayList<>();
        if (eq + 1 < head.length()) {
            valueParts.add(new Part(head.substring(eq + 1), false, w.parts().get(0).quoted()));
        }
        valueParts.addAll(w.parts().subList(1, w.parts().size()));
        Word value = new Word(valueParts, w.quoted());
        if (topLevel && name.equals("default")) {
            if (value.references("saved_entry")) {
                defaultEntry = "saved";
            } else if (value.literal() != null) {
                defaultEntry = value.literal();
            }
            // Any other reference (${next_entry}: a one-time choice) is not the default.
            return;
        }
        if (name.equals("menuentry_id_option")) {
            return;
        }
        vars.put(name, String.join(" ", expand(value, vars)));
    }

    private Item item(List<Word> words, List<Command> body, boolean submenu, int line) {
        String title = null;
        Optional<String> id = Optional.empty();
        List<String> args = new ArrayList<>();
        for (Word w : words.subList(1, words.size())) {
            args.addAll(expand(w, variables));
        }
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (OPTIONS_WITH_VALUE.contains(a) && i + 1 < args.size()) {
                if (a.equals("--id")) {
                    id = Optional.of(args.get(i + 1));
                }
                i++;
            } else if (!a.startsWith("--") && title == null) {
                title = a;
            }
        }
        if (title == null) {
            throw new NotBootableException("grub.cfg line " + line + ": a " + (submenu ? "submenu" : "menuentry")
                    + " without a title");
        }
        return new Item(title, id, body, submenu);
    }

    private Entry choose(List<Item> top) {
        String wanted = defaultEntry.equals("saved") ? "0" : defaultEntry;
        List<Item> items = top;
        String path = "";
        String[] steps = wanted.split(">", -1);
        for (int i = 0; ; i++) {
            Item it = i < steps.length ? find(items, steps[i].strip()) : items.get(0);
            path = path.isEmpty() ? it.title() : path + ">" + it.title();
            if (!it.submenu()) {
                return entry(path, it);
            }
            items = menu(it.body(), false);
            if (items.isEmpty()) {
                throw new NotBootableException("grub.cfg default submenu '" + path + "' has no entries");
            }
        }
    }

    /** The item {@code step} names (an index, a title or an id); the first item if none, as GRUB falls back. */
    private static Item find(List<Item> items, String step) {
        if (step.matches("\\d{1,9}")) {
            int index = Integer.parseInt(step);
            return index < items.size() ? items.get(index) : items.get(0);
        }
        for (Item it : items) {
            if (it.title().equals(step) || it.id().filter(step::equals).isPresent()) {
                return it;
            }
        }
        return items.get(0);
    }

    private Entry entry(String title, Item it) {
        Map<String, String> vars = new HashMap<>(variables);
        List<String> linux = null;
        List<String> initrds = List.of();
        // Commands inside if/for count in order (GRUB's conditionals have no braces); nested blocks do not.
        for (Command c : it.body()) {
            List<Word> words = withoutLeadingKeywords(c.words());
            if (words.isEmpty() || c.block() != null) {
                continue;
            }
            String name = String.valueOf(words.get(0).literal());
            if (LINUX.contains(name) && linux == null) {
                linux = expandAll(words.subList(1, words.size()), vars);
            } else if (INITRD.contains(name) && initrds.isEmpty()) {
                initrds = expandAll(words.subList(1, words.size()), vars).stream().map(GrubConfig::onDevice).toList();
            } else {
                assign(words, vars, false);
            }
        }
        if (linux == null || linux.isEmpty()) {
            throw new NotBootableException("grub.cfg default entry '" + title + "' boots no Linux kernel (no linux"
                    + " command)");
        }
        return new Entry(title, onDevice(linux.get(0)), List.copyOf(linux.subList(1, linux.size())), initrds);
    }

    /** A path without its GRUB device ("(hd0,gpt1)/boot/vmlinuz", "($root)/vmlinuz"): the filesystem grub.cfg is on. */
    private static String onDevice(String path) {
        if (path.startsWith("(")) {
            int close = path.indexOf(')');
            return close < 0 ? path : path.substring(close + 1);
        }
        return path;
    }

    private static List<String> expandAll(List<Word> words, Map<String, String> vars) {
        List<String> out = new ArrayList<>();
        for (Word w : words) {
            out.addAll(expand(w, vars));
        }
        return out;
    }

    /**
     * The fields a word expands to: an unquoted reference is split at blanks (GRUB does), a
     * quoted one is not; an unset variable is empty, and an unquoted word that expands to nothing
     * is no field at all.
     */
    static List<String> expand(Word w, Map<String, String> vars) {
        List<String> fields = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        boolean open = w.quoted();
        for (Part p : w.parts()) {
            if (!p.variable()) {
                current.append(p.text());
                open = open || !p.text().isEmpty();
                continue;
            }
            String value = vars.getOrDefault(p.text(), "");
            if (p.quoted()) {
                current.append(value);
                continue;
            }
            String[] pieces = value.strip().split("[ \\t\\n]+");
            if (value.isBlank()) {
                continue;
            }
            current.append(pieces[0]);
            open = true;
            for (int i = 1; i < pieces.length; i++) {
                fields.add(current.toString());
                current.setLength(0);
                current.append(pieces[i]);
            }
        }
        if (open || current.length() > 0) {
            fields.add(current.toString());
        }
        return fields;
    }
}
