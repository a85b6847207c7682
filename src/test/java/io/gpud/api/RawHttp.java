package io.gpud.api;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** HTTP written by hand on a raw loopback socket, the way a hostile client writes it. */
final class RawHttp {

    private static final Pattern STATUS_LINE = Pattern.compile("HTTP/1\\.[01] (\\d{3}) ");

    private RawHttp() {
    }

    /** Writes {@code request} on a fresh connection to {@code port} and reads until the server closes it (or 10 s). */
    static String exchange(int port, byte[] request, boolean halfClose) throws IOException {
        try (var socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            try {
                socket.getOutputStream().write(request);
                socket.getOutputStream().flush();
                if (halfClose) {
                    socket.shutdownOutput();
                }
            } catch (IOException refusedMidWrite) {
                // the server may answer and close before the whole request is written
            }
            return readToClose(socket);
        }
    }

    /** Everything {@code socket} receives until the server closes it, a reset, or its read timeout. */
    static String readToClose(Socket socket) throws IOException {
        var out = new ByteArrayOutputStream();
        InputStream in = socket.getInputStream();
        byte[] buffer = new byte[8192];
        try {
            for (int n; (n = in.read(buffer)) != -1; ) {
                out.write(buffer, 0, n);
            }
        } catch (SocketTimeoutException stillOpen) {
            out.write(("\n<connection still open after " + socket.getSoTimeout() + " ms>")
                    .getBytes(StandardCharsets.US_ASCII));
        } catch (IOException reset) {
            out.write(("\n<" + reset + ">").getBytes(StandardCharsets.US_ASCII));
        }
        return out.toString(StandardCharsets.ISO_8859_1);
    }

    /** The status of the first response in {@code response}, or -1 if there is none. */
    static int statusOf(String response) {
        Matcher m = STATUS_LINE.matcher(response);
        return m.find() ? Integer.parseInt(m.group(1)) : -1;
    }

    /** How many responses {@code text} holds. */
    static int responses(String text) {
        int count = 0;
        for (Matcher m = STATUS_LINE.matcher(text); m.find(); ) {
            count++;
        }
        return count;
    }
}
