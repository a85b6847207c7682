package io.gpud.state;

/** The outcome of a conditional lease write. */
public sealed interface LeaseWrite permits LeaseWrite.Won, LeaseWrite.Lost {

    /** The write went through; {@code lease} is the item as written. */
    record Won(LeaseRecord lease) implements LeaseWrite {
    }

    /** Its condition failed: someone else wrote first. */
    record Lost() implements LeaseWrite {
    }
}
