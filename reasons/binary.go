package reasons

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"slices"
)

// The binary format of a model, version 1, little-endian throughout:
//
//	magic "PRLYRSN" and the format version byte
//	uvarint examples
//	feature spec: bits, char n-gram min and max, flags (1 bigrams, 2 stem) as bytes,
//	  then the word, char, fact and mark weights as float32
//	uvarint number of labels, then each label as uvarint length and bytes
//	the labels' biases as float32
//	uvarint number of non-zero weight rows, then each row as the uvarint gap from the
//	  previous row's index (plus one), its scale as float32 and a signed byte a label
//	CRC-32 (IEEE) of everything before it
//
// Rows that training never touched are all zero and left out, which keeps a model
// trained on a few thousand tickets small.
const (
	magic         = "PRLYRSN"
	formatVersion = 1
)

// Limits that Load checks before it allocates, so that a corrupt header cannot make it
// reserve gigabytes.
const (
	maxLabels     = 1000
	maxLabelBytes = 200
	// maxWeights bounds a model's weights (256 MB of float32), in Train as in Load.
	maxWeights = 1 << 26
)

// MarshalBinary encodes the model in the versioned format that Load reads.
func (m *Model) MarshalBinary() ([]byte, error) {
	L := len(m.labels)
	b := make([]byte, 0, 64+L*32)
	b = append(b, magic...)
	b = append(b, formatVersion)
	b = binary.AppendUvarint(b, uint64(m.examples))
	s := m.spec
	var flags byte
	if s.bigrams {
		flags |= 1
	}
	if s.stem {
		flags |= 2
	}
	b = append(b, s.bits, s.charMin, s.charMax, flags)
	for _, v := range []float32{s.wordWeight, s.charWeight, s.factWeight, s.markWeight} {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	b = binary.AppendUvarint(b, uint64(L))
	for _, l := range m.labels {
		b = binary.AppendUvarint(b, uint64(len(l)))
		b = append(b, l...)
	}
	for _, v := range m.bias {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	rows := 0
	for _, rs := range m.rowScale {
		if rs != 0 {
			rows++
		}
	}
	b = slices.Grow(b, rows*(L+7)+4)
	b = binary.AppendUvarint(b, uint64(rows))
	prev := -1
	for r, rs := range m.rowScale {
		if rs == 0 {
			continue
		}
		b = binary.AppendUvarint(b, uint64(r-prev-1))
		prev = r
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(rs))
		for _, v := range m.q[r*L : r*L+L] {
			b = append(b, byte(v))
		}
	}
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b)), nil
}

// errCorrupt is what Load says of bytes that are not a whole model.
var errCorrupt = errors.New("load model: not a model or a damaged one")

// Load decodes a model written by MarshalBinary. It refuses bytes that are not a
// model, a model cut short or changed (a checksum covers it), and models of a format
// version it does not know, with an error; it never panics.
func Load(b []byte) (*Model, error) {
	if len(b) < len(magic)+1+4 || string(b[:len(magic)]) != magic {
		return nil, errCorrupt
	}
	if v := b[len(magic)]; v != formatVersion {
		return nil, fmt.Errorf("load model: format version %d, want %d: train the model again", v, formatVersion)
	}
	body := b[:len(b)-4]
	if crc32.ChecksumIEEE(body) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return nil, fmt.Errorf("%w (checksum mismatch)", errCorrupt)
	}
	r := reader{b: body[len(magic)+1:]}
	examples := r.uvarint()
	var s featureSpec
	s.bits, s.charMin, s.charMax = r.byte(), r.byte(), r.byte()
	flags := r.byte()
	s.bigrams, s.stem = flags&1 != 0, flags&2 != 0
	s.wordWeight, s.charWeight, s.factWeight, s.markWeight = r.float32(), r.float32(), r.float32(), r.float32()
	if r.err == nil && (s.bits < 10 || s.bits > 24 || s.charMin > s.charMax || s.charMax > 20 || flags > 3 || examples > math.MaxInt32 ||
		!finite(s.wordWeight, s.charWeight, s.factWeight, s.markWeight)) {
		r.err = errors.New("bad feature spec")
	}
	L := int(r.uvarint())
	if r.err == nil && (L < 2 || L > maxLabels) {
		r.err = fmt.Errorf("%d labels", L)
	}
	var labels []string
	for i := 0; r.err == nil && i < L; i++ {
		n := int(r.uvarint())
		if n == 0 || n > maxLabelBytes {
			r.err = fmt.Errorf("label of %d bytes", n)
			break
		}
		l := string(r.bytes(n))
		if len(labels) > 0 && l <= labels[len(labels)-1] {
			r.err = errors.New("labels not sorted or repeated")
		}
		labels = append(labels, l)
	}
	if r.err == nil && (1<<s.bits)*L > maxWeights {
		r.err = fmt.Errorf("2^%d rows of %d labels", s.bits, L)
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w: %v", errCorrupt, r.err)
	}
	m := newModel(s, labels, int(examples))
	for i := range m.bias {
		m.bias[i] = r.float32()
	}
	rows := r.uvarint()
	if r.err == nil && rows > uint64(len(m.rowScale)) {
		r.err = fmt.Errorf("%d weight rows", rows)
	}
	next := uint64(0)
	for i := uint64(0); r.err == nil && i < rows; i++ {
		row := next + r.uvarint()
		if row >= uint64(len(m.rowScale)) {
			r.err = fmt.Errorf("weight row %d out of range", row)
			break
		}
		rs := r.float32()
		if !(rs > 0) || math.IsInf(float64(rs), 0) {
			r.err = fmt.Errorf("weight row %d has scale %v", row, rs)
			break
		}
		m.rowScale[row] = rs
		for l, v := range r.bytes(L) {
			m.q[int(row)*L+l] = int8(v)
		}
		next = row + 1
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%d bytes after the weights", len(r.b))
	}
	if r.err == nil && !finite(m.bias...) {
		r.err = errors.New("a bias is not a finite number")
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w: %v", errCorrupt, r.err)
	}
	return m, nil
}

// reader decodes the format; its first error sticks and every later read returns zero.
type reader struct {
	b   []byte
	err error
}

var errShort = errors.New("cut short")

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errShort
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 1 {
		r.err = errShort
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b) < n {
		r.err = errShort
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) float32() float32 {
	p := r.bytes(4)
	if p == nil {
		return 0
	}
	return math.Float32frombits(binary.LittleEndian.Uint32(p))
}

// finite reports whether every v is a number and not infinite.
func finite(vs ...float32) bool {
	for _, v := range vs {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return false
		}
	}
	return true
}
