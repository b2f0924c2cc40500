package io.stratus.api;

import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A regular expression from a request (Nova's {@code name} filter), matched with a bounded amount
 * of work: a pattern that backtracks catastrophically is refused with a 400 instead of holding a
 * request thread for minutes.
 */
public final class BoundedMatch {
    /** Characters the matcher may read per subject; ample for names of 255 characters. */
    private static final int BUDGET = 200_000;

    private final Pattern pattern;

    private BoundedMatch(Pattern pattern) {
        this.pattern = pattern;
    }

    public static BoundedMatch of(String regex, String field) {
        if (regex.length() > 255) {
            throw ApiException.badRequest(field + " filter is longer than 255 characters");
        }
        try {
            return new BoundedMatch(Pattern.compile(regex));
        } catch (PatternSyntaxException e) {
            throw ApiException.badRequest(field + " filter is not a valid regular expression: " + e.getDescription());
        }
    }

    /** Whether the pattern is found in {@code subject}. */
    public boolean find(String subject) {
        try {
            return pattern.matcher(new Budgeted(subject)).find();
        } catch (BudgetExceeded e) {
            throw ApiException.badRequest("the filter " + pattern.pattern() + " is too costly to match; simplify it");
        }
    }

    private static final class BudgetExceeded extends RuntimeException {
        BudgetExceeded() {
            super(null, null, false, false);
        }
    }

    /** The subject, counting the matcher's reads. */
    private static final class Budgeted implements CharSequence {
        private final String text;
        private int left = BUDGET;

        Budgeted(String text) {
            this.text = text;
        }

        @Override
        public char charAt(int index) {
            if (--left < 0) {
                throw new BudgetExceeded();
            }
            return text.charAt(index);
        }

        @Override
        public int length() {
            return text.length();
        }

        @Override
        public CharSequence subSequence(int start, int end) {
            return text.subSequence(start, end);
        }

        @Override
        public String toString() {
            return text;
        }
    }
}
