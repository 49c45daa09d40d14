package storage

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Recent stories are the largest part of the database (their text), and
// bbolt's map of the file is resident memory, so their records are stored
// deflated: a marker byte, then the JSON record through DEFLATE at its
// fastest level. About two thirds of the size on the pipeline benchmark's
// generated text, less on real prose, which repeats more. A record of the
// earlier form is plain JSON, which starts with '{', never with the marker.

// markDeflated starts a deflated record.
const markDeflated = 0x01

// maxInflated bounds what one record may inflate to: a damaged or hostile
// file (a restored backup) cannot make a read allocate without limit.
const maxInflated = 1 << 20

// errInflatedTooLarge means a deflated record inflates past maxInflated.
var errInflatedTooLarge = errors.New("deflated record larger than 1 MiB")

// deflater compresses and inflates records. It keeps one writer, used
// under a lock: a flate writer holds about a megabyte of tables, so a pool
// of them (one per poll committing at once) cost several megabytes of
// heap for what a few tens of microseconds per record take. Readers are
// small and pooled.
type deflater struct {
	mu      sync.Mutex
	w       *flate.Writer
	readers sync.Pool // io.ReadCloser that is a flate.Resetter
}

// deflate returns the marker byte and src deflated.
func (d *deflater) deflate(src []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(src)/2 + 16)
	buf.WriteByte(markDeflated)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.w == nil {
		var err error
		if d.w, err = flate.NewWriter(&buf, flate.BestSpeed); err != nil {
			return nil, fmt.Errorf("deflate: %w", err)
		}
	} else {
		d.w.Reset(&buf)
	}
	if _, err := d.w.Write(src); err != nil {
		return nil, fmt.Errorf("deflate: %w", err)
	}
	if err := d.w.Close(); err != nil {
		return nil, fmt.Errorf("deflate: %w", err)
	}
	// Not kept pointing at buf, which the caller now owns.
	d.w.Reset(io.Discard)
	return buf.Bytes(), nil
}

// inflate returns v's content: v itself when it is not deflated, else
// the inflated bytes after the marker.
func (d *deflater) inflate(v []byte) ([]byte, error) {
	if len(v) == 0 || v[0] != markDeflated {
		return v, nil
	}
	src := bytes.NewReader(v[1:])
	r, _ := d.readers.Get().(io.ReadCloser)
	if r == nil {
		r = flate.NewReader(src)
	} else if err := r.(flate.Resetter).Reset(src, nil); err != nil {
		return nil, fmt.Errorf("inflate: %w", err)
	}
	out, err := io.ReadAll(io.LimitReader(r, maxInflated+1))
	if err != nil {
		return nil, fmt.Errorf("inflate: %w", err)
	}
	d.readers.Put(r)
	if len(out) > maxInflated {
		return nil, errInflatedTooLarge
	}
	return out, nil
}
