package org.ood4j.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.PrintWriter;
import java.io.StringWriter;

import org.junit.jupiter.api.Test;

class InfoCommandTest {
    @Test
    void infoPrintsVersionBackendsAndCudaStatus() {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(new String[] {"info"}, new PrintWriter(out, true), new PrintWriter(err, true));
        String text = out.toString();
        assertEquals(0, code, err.toString());
        assertTrue(text.startsWith("ood4j 0."), text);
        assertTrue(text.contains("cpu   available"), text);
        assertTrue(text.matches("(?s).*cuda  (available|unavailable): \\S.*"), text);
    }

    @Test
    void unknownCommandIsAnErrorExitCode() {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(new String[] {"no-such-command"}, new PrintWriter(out, true), new PrintWriter(err, true));
        assertNotEquals(0, code);
        assertTrue(err.toString().contains("no-such-command"), err.toString());
    }
}
