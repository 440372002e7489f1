"""A simulated Tuyên Quang province: unit registry, event generator, feeder to ingest."""
