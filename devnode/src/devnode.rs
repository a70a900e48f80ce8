//! devnode: a local Hyperware node (see docs/devnode.md).
