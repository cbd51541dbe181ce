"""The use cases the command line and the service both call: one module each."""
