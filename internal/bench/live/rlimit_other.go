//go:build !unix

package live

// raiseFileLimit does nothing: there is no open-file limit to raise
// (Windows' handle limit is far above what the bench opens).
func raiseFileLimit(need uint64) error { return nil }
