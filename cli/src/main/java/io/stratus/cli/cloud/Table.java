package io.stratus.cli.cloud;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/** Rows of JSON objects printed as a table of chosen fields, or as JSON. */
final class Table {
    private Table() {
    }

    /** One object, a field per line, or as JSON. */
    static void printFields(PrintWriter out, JsonNode object, boolean json) {
        if (json) {
            out.println(object.toPrettyString());
        } else {
            object.fields().forEachRemaining(f -> out.printf("%-36s %s%n", f.getKey(),
                    f.getValue().isValueNode() ? f.getValue().asText() : f.getValue().toString()));
        }
        out.flush();
    }

    /**
     * @param columns "Header=json.path" pairs; the path may use dots for nested fields
     */
    static void print(PrintWriter out, Iterable<JsonNode> rows, boolean json, String... columns) {
        if (json) {
            List<JsonNode> all = new ArrayList<>();
            rows.forEach(all::add);
            out.println(CloudClient.object(java.util.Map.of("items", all)).get("items").toPrettyString());
            out.flush();
            return;
        }
        List<String[]> cells = new ArrayList<>();
        String[] header = new String[columns.length];
        int[] width = new int[columns.length];
        for (int i = 0; i < columns.length; i++) {
            header[i] = columns[i].substring(0, columns[i].indexOf('='));
            width[i] = header[i].length();
        }
        for (JsonNode row : rows) {
            String[] c = new String[columns.length];
            for (int i = 0; i < columns.length; i++) {
                JsonNode v = row;
                for (String part : columns[i].substring(columns[i].indexOf('=') + 1).split("\\.")) {
                    v = v.path(part);
                }
                c[i] = v.isMissingNode() || v.isNull() ? "" : v.isValueNode() ? v.asText() : v.toString();
                width[i] = Math.max(width[i], c[i].length());
            }
            cells.add(c);
        }
        line(out, header, width);
        for (String[] c : cells) {
            line(out, c, width);
        }
        out.flush();
    }

    private static void line(PrintWriter out, String[] cells, int[] width) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < cells.length; i++) {
            b.append(i == 0 ? "" : "  ").append(String.format("%-" + width[i] + "s", cells[i]));
        }
        out.println(b.toString().stripTrailing());
    }
}
