package io.gpud.enclave;

import io.gpud.enclave.protocol.FrameChannel;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Records every frame that crosses the parent, both directions, around a real channel. */
final class RecordingFrameChannel implements FrameChannel {

    private final FrameChannel inner;
    final List<byte[]> frames = new CopyOnWriteArrayList<>();

    RecordingFrameChannel(FrameChannel inner) {
        this.inner = inner;
    }

    @Override
    public byte[] call(byte[] request) throws IOException {
        frames.add(request.clone());
        byte[] reply = inner.call(request);
        frames.add(reply.clone());
        return reply;
    }

    @Override
    public void close() throws IOException {
        inner.close();
    }
}
