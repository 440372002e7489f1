"""Running the stack on one machine: the local Kafka broker and the process supervisor."""
