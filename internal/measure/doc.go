// Package measure reads what the benchmarks and the sinks' load tests
// report: the CPU time of this process and of others, their resident
// memory, and the Go heap and stacks after a collection.
//
// The figures about other processes come from /proc and exist on Linux
// only; elsewhere those functions return an error wrapping
// errors.ErrUnsupported. SelfCPU and Exited work on every platform Go
// runs pgcdc on, with less detail where the system tells less (see their
// comments).
package measure
