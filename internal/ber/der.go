package ber

// HeaderSize is the number of bytes of a DER identifier and length for a
// content of n bytes with a low tag number (< 31), as CMS uses.
func HeaderSize(n int64) int64 {
	switch {
	case n < 0x80:
		return 2
	default:
		l := int64(1)
		for v := n; v > 0; v >>= 8 {
			l++
		}
		return 1 + l
	}
}

// Size is the total DER size of an element with a content of n bytes and a
// low tag number.
func Size(n int64) int64 { return HeaderSize(n) + n }

// AppendHeader appends a DER identifier and definite length.
func AppendHeader(dst []byte, class, tag int, constructed bool, n int64) []byte {
	id := byte(class<<6) & 0xc0
	if constructed {
		id |= 0x20
	}
	if tag < 31 {
		dst = append(dst, id|byte(tag))
	} else {
		dst = append(dst, id|0x1f)
		var buf [5]byte
		i := len(buf)
		for v := tag; ; v >>= 7 {
			i--
			buf[i] = byte(v&0x7f) | 0x80
			if v < 0x80 {
				break
			}
		}
		buf[len(buf)-1] &^= 0x80
		dst = append(dst, buf[i:]...)
	}
	if n < 0x80 {
		return append(dst, byte(n))
	}
	var lb [8]byte
	i := len(lb)
	for v := n; v > 0; v >>= 8 {
		i--
		lb[i] = byte(v)
	}
	dst = append(dst, 0x80|byte(len(lb)-i))
	return append(dst, lb[i:]...)
}

// AppendElement appends a complete DER element.
func AppendElement(dst []byte, class, tag int, constructed bool, content []byte) []byte {
	dst = AppendHeader(dst, class, tag, constructed, int64(len(content)))
	return append(dst, content...)
}

// Sequence returns the DER SEQUENCE of the concatenated elements.
func Sequence(elements ...[]byte) []byte {
	return wrap(ClassUniversal, TagSequence, elements)
}

// Set returns the DER SET of the concatenated elements, in the order given.
func Set(elements ...[]byte) []byte { return wrap(ClassUniversal, TagSet, elements) }

// Explicit returns the elements wrapped in a constructed context tag.
func Explicit(tag int, elements ...[]byte) []byte { return wrap(ClassContext, tag, elements) }

func wrap(class, tag int, elements [][]byte) []byte {
	n := 0
	for _, e := range elements {
		n += len(e)
	}
	out := AppendHeader(make([]byte, 0, n+6), class, tag, true, int64(n))
	for _, e := range elements {
		out = append(out, e...)
	}
	return out
}
