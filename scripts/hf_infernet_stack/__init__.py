"""Start and drive local Infernet stacks: processes, anvil and forge, JSON-RPC and node REST
clients, devnodes, the flows, and the codec of tasks and answers (docs/stack.md). Import the
modules themselves; this root imports none, so nothing has to load the whole package."""
