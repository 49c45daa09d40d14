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

// deflater compresses and inflates records, reusing flate's writers and
// readers: a new writer costs hundreds of kilobytes of tables.
type deflater struct {
	writers sync.Pool // *flate.Writer
	readers sync.Pool // io.ReadCloser that is a flate.Resetter
}

// deflate returns the marker byte and src deflated.
func (d *deflater) deflate(src []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(src)/2 + 16)
	buf.WriteByte(markDeflated)
	w, _ := d.writers.Get().(*flate.Writer)
	if w == nil {
		var err error
		if w, err = flate.NewWriter(&buf, flate.BestSpeed); err != nil {
			return nil, fmt.Errorf("deflate: %w", err)
		}
	} else {
		w.Reset(&buf)
	}
	if _, err := w.Write(src); err != nil {
		return nil, fmt.Errorf("deflate: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("deflate: %w", err)
	}
	d.writers.Put(w)
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
