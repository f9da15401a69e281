package sqlite

// OpenAt opens the store at path like Open, but applies the migrations only up to and
// including version: the database of the Parley whose newest migration that was.
func OpenAt(path, version string, opt Options) (*DB, error) {
	opt.stopAfter = version
	return Open(path, opt)
}
