package org.ood4j.engine.io;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/** The streaming matrix reader: float32 rounding equal to Float.parseFloat's, shapes, and its refusals. */
class JsonMatrixTest {
    private static JsonMatrix.Result parse(String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        return JsonMatrix.parse(b, b.length);
    }

    private static String refusal(String text) {
        return assertThrows(Json.ParseException.class, () -> parse(text)).getMessage();
    }

    @Test
    void readsKeyShapeAndValues() {
        JsonMatrix.Result r = parse(" {\"features\" : [[1, -2.5e1, 0.125],\n [3E-2, -0, 1e+2]] } ");
        assertEquals("features", r.key());
        assertEquals(2, r.rows());
        assertEquals(3, r.cols());
        assertArrayEquals(new float[] {1, -25, 0.125f, 0.03f, -0f, 100}, r.data());
        assertEquals(Float.floatToIntBits(-0f), Float.floatToIntBits(r.data()[4]));
        assertEquals(0, parse("{\"logits\": []}").rows());
    }

    @Test
    void roundsEveryNumberAsFloatParseFloatDoes() {
        SplittableRandom rng = new SplittableRandom(7);
        StringBuilder sb = new StringBuilder("{\"x\":[");
        int n = 200_000;
        String[] texts = new String[n];
        for (int i = 0; i < n; i++) {
            texts[i] = switch (i % 7) {
                case 0 -> Float.toString(Float.intBitsToFloat(rng.nextInt()) % 1e6f);   // shortest float text
                case 1 -> Double.toString(rng.nextGaussian());                        // 17 digits: the slow path
                case 2 -> rng.nextInt(100_000) + "." + rng.nextInt(1000) + "e" + (rng.nextInt(78) - 45);
                case 3 -> Float.toString(Math.nextUp(0f) * rng.nextInt(1000));        // subnormals
                case 4 -> {   // more digits than a long holds, magnitudes 1e-30 to 1e30
                    int whole = 16 + rng.nextInt(15);
                    yield digits(rng, whole) + "." + digits(rng, 1 + rng.nextInt(30)) + "e" + (rng.nextInt(60) - 30 - whole);
                }
                case 5 -> midpoint(rng);
                default -> Long.toString(rng.nextLong() >> rng.nextInt(64));
            };
            if (texts[i].equals("NaN") || texts[i].contains("Infinity")) texts[i] = "1";
            sb.append(i == 0 ? "[" : ",").append(texts[i]);
        }
        float[] got = parse(sb.append("]]}").toString()).data();
        for (int i = 0; i < n; i++) {
            assertEquals(Float.floatToIntBits(Float.parseFloat(texts[i])), Float.floatToIntBits(got[i]), texts[i]);
        }
        // halfway between two floats as a double: narrowing would round to even, the decimal is above
        String tie = "1.00000005960464477550";   // 1 + 2^-24 + a little: rounds up to 1 + 2^-23
        assertEquals(Float.parseFloat(tie), parse("{\"x\":[[" + tie + "]]}").data()[0]);
        assertEquals(Float.parseFloat("16777217"), parse("{\"x\":[[16777217]]}").data()[0]);
    }

    private static String digits(SplittableRandom rng, int n) {
        StringBuilder sb = new StringBuilder().append(1 + rng.nextInt(9));
        for (int i = 1; i < n; i++) sb.append(rng.nextInt(10));
        return sb.toString();
    }

    /** A decimal at, or a hair (1e-25 relative) off, the exact midpoint between two floats: where narrowing a double can go wrong. */
    private static String midpoint(SplittableRandom rng) {
        float f = Float.intBitsToFloat(0x3000_0000 + rng.nextInt(0x2000_0000));
        java.math.BigDecimal mid = new java.math.BigDecimal(f).add(new java.math.BigDecimal(Math.nextUp(f))).divide(java.math.BigDecimal.TWO);
        int side = rng.nextInt(3) - 1;
        return mid.add(mid.movePointLeft(25).multiply(java.math.BigDecimal.valueOf(side))).toString();
    }

    @Test
    void refusesWhatIsNotAFiniteNumberMatrixNamingRowAndColumn() {
        assertTrue(refusal("{\"x\":[[1,2],[3,NaN]]}").startsWith("row 1, column 1: NaN is not accepted"));
        assertTrue(refusal("{\"x\":[[1,-Infinity]]}").startsWith("row 0, column 1: Infinity is not accepted"));
        assertTrue(refusal("{\"x\":[[1,\"2\"]]}").startsWith("row 0, column 1: expected a number, got a string"));
        assertTrue(refusal("{\"x\":[[1e39]]}").startsWith("row 0, column 0: 1e39 is beyond the float32 range"));
        assertTrue(refusal("{\"x\":[[1,2],[3]]}").startsWith("row 1 has 1 values, row 0 has 2"));
        assertTrue(refusal("{\"x\":[[1,2],[]]}").startsWith("row 1 is empty"));
        assertTrue(refusal("{\"x\":[1,2]}").startsWith("row 0: expected '[' (a row of numbers), got '1'"));
        assertTrue(refusal("{\"x\":[[1,2]], \"y\": 1}").startsWith("one key only"));
        assertTrue(refusal("{\"x\":[[1 2]]}").startsWith("row 0: expected ',' or ']' after column 0, got '2'"));
        assertTrue(refusal("{\"x\":[[01]]}").startsWith("row 0: expected ',' or ']' after column 0"));
        assertTrue(refusal("{\"x\":[[1.]]}").startsWith("row 0, column 0: a digit must follow the decimal point, got ']'"));
        assertTrue(refusal("{\"x\":[[1,-").contains("expected a number, got the end of the body"));
        assertTrue(refusal("{\"x\":[[1]]} x").startsWith("unexpected 'x' after the object"));
        assertTrue(refusal("").startsWith("empty body"));
        assertTrue(refusal("{\"x\":[[1,2]").contains("the end of the body"));
        String m = refusal("{\"x\":\n[[1,\nNaN]]}");
        assertTrue(m.endsWith("at line 3, column 1 (offset 11)"), m);
    }
}
