package org.ood4j.engine.io;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses the Python literal subset that .npy headers use: dicts, tuples, lists, quoted strings,
 * integers (an old {@code L} suffix allowed), {@code True}, {@code False} and {@code None}.
 * NumPy writes the header with {@code repr()}, so we accept what Python's {@code ast.literal_eval}
 * would for these types: any key order, any spacing, trailing commas, {@code ()} and {@code (5,)}.
 *
 * <p>Dicts become {@link LinkedHashMap}, tuples and lists {@link List}, integers {@link Long}.
 * Errors are {@link IllegalArgumentException}s giving the position; the caller adds the header.
 */
final class PyLiteral {
    private static final int MAX_DEPTH = 64;

    private final String s;
    private int pos;

    private PyLiteral(String s) { this.s = s; }

    /** Parses one literal; only whitespace may follow it. */
    static Object parse(String text) {
        PyLiteral p = new PyLiteral(text);
        p.skipSpace();
        Object v = p.value(0);
        p.skipSpace();
        if (p.pos < text.length()) throw p.error("unexpected text after the value");
        return v;
    }

    private Object value(int depth) {
        if (depth >= MAX_DEPTH) throw error("nesting too deep");
        if (pos >= s.length()) throw error("unexpected end, expected a value");
        char c = s.charAt(pos);
        switch (c) {
            case '{': return dict(depth);
            case '(': return sequence(')', depth);
            case '[': return sequence(']', depth);
            case '\'':
            case '"': return string(c);
            default:
                if (c == '-' || c == '+' || Character.isDigit(c)) return integer();
                if (Character.isLetter(c)) return name();
                throw error("unexpected '" + c + "'");
        }
    }

    private Map<Object, Object> dict(int depth) {
        Map<Object, Object> map = new LinkedHashMap<>();
        pos++;
        while (true) {
            skipSpace();
            if (peek() == '}') {
                pos++;
                return map;
            }
            Object key = value(depth + 1);
            skipSpace();
            expect(':');
            skipSpace();
            map.put(key, value(depth + 1));
            skipSpace();
            if (peek() == ',') pos++;
            else if (peek() != '}') throw error("expected ',' or '}'");
        }
    }

    /**
     * A tuple or list. A one-element tuple needs its trailing comma in Python, but {@code (5)}
     * would be the integer 5; no writer produces that for a shape, so we read it as a tuple too.
     */
    private List<Object> sequence(char close, int depth) {
        List<Object> items = new ArrayList<>();
        pos++;
        while (true) {
            skipSpace();
            if (peek() == close) {
                pos++;
                return items;
            }
            items.add(value(depth + 1));
            skipSpace();
            if (peek() == ',') pos++;
            else if (peek() != close) throw error("expected ',' or '" + close + "'");
        }
    }

    private String string(char quote) {
        int start = pos;
        pos++;
        StringBuilder sb = new StringBuilder();
        while (pos < s.length()) {
            char c = s.charAt(pos++);
            if (c == quote) return sb.toString();
            if (c == '\\' && pos < s.length()) {
                char e = s.charAt(pos++);
                sb.append(switch (e) {
                    case 'n' -> '\n';
                    case 't' -> '\t';
                    case 'r' -> '\r';
                    case '0' -> '\0';
                    default -> e; // \\, \', \" and anything else taken literally
                });
            } else {
                sb.append(c);
            }
        }
        pos = start;
        throw error("unterminated string");
    }

    private Long integer() {
        int start = pos;
        if (peek() == '-' || peek() == '+') pos++;
        int digitsAt = pos;
        while (pos < s.length() && Character.isDigit(s.charAt(pos))) pos++;
        if (pos == digitsAt) throw error("expected a digit");
        String text = s.substring(start, pos);
        if (peek() == 'L' || peek() == 'l') pos++; // Python 2 long
        try {
            return Long.parseLong(text.startsWith("+") ? text.substring(1) : text);
        } catch (NumberFormatException e) {
            pos = start;
            throw error("integer " + text + " is too large");
        }
    }

    private Object name() {
        int start = pos;
        while (pos < s.length() && (Character.isLetterOrDigit(s.charAt(pos)) || s.charAt(pos) == '_')) pos++;
        String word = s.substring(start, pos);
        return switch (word) {
            case "True" -> Boolean.TRUE;
            case "False" -> Boolean.FALSE;
            case "None" -> null;
            default -> {
                pos = start;
                throw error("unknown name '" + word + "'");
            }
        };
    }

    private void expect(char c) {
        if (peek() != c) throw error("expected '" + c + "'");
        pos++;
    }

    private int peek() {
        return pos < s.length() ? s.charAt(pos) : -1;
    }

    private void skipSpace() {
        while (pos < s.length() && Character.isWhitespace(s.charAt(pos))) pos++;
    }

    private IllegalArgumentException error(String problem) {
        return new IllegalArgumentException(problem + " at position " + pos);
    }
}
