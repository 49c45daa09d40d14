//go:build !linux

package storage

import "errors"

// ReleaseMap does nothing where madvise is not used; see the Linux
// version.
func (db *DB) ReleaseMap() error { return nil }

// MapResident reports 0 where /proc/self/smaps is not read.
func (db *DB) MapResident() (int64, error) { return 0, nil }

// MappedResident is not available without /proc.
func MappedResident(smapsPath, file string) (int64, error) {
	return 0, errors.New("storage: resident map: no /proc here")
}
