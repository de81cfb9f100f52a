package segment

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Error is a segment that does not parse or does not check: what is
// wrong, and where. Pos is a byte offset into Src, from 0 to len(Src)
// (the end, for a segment cut short).
type Error struct {
	Src string
	Pos int
	Msg string
}

// Error reports the message with its line (for a segment of several
// lines) and column, counted in characters from 1.
func (e *Error) Error() string {
	line, col, _ := e.where()
	if strings.Contains(e.Src, "\n") {
		return fmt.Sprintf("segment: line %d, column %d: %s", line, col, e.Msg)
	}
	return fmt.Sprintf("segment: column %d: %s", col, e.Msg)
}

// Caret renders the error under the line of the segment it is on, for a
// terminal or a <pre>:
//
//	created_at > now - 30x
//	                     ^ unknown unit "x": use d, h or m
func (e *Error) Caret() string {
	_, col, text := e.where()
	var b strings.Builder
	b.WriteString(text)
	b.WriteByte('\n')
	n := 0
	for _, r := range text {
		if n >= col-1 {
			break
		}
		if r == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
		n++
	}
	b.WriteString("^ ")
	b.WriteString(e.Msg)
	return b.String()
}

// where returns the line and column (from 1) of Pos, and the text of its
// line.
func (e *Error) where() (line, col int, text string) {
	pos := min(max(e.Pos, 0), len(e.Src))
	start := strings.LastIndexByte(e.Src[:pos], '\n') + 1
	end := strings.IndexByte(e.Src[pos:], '\n')
	if end < 0 {
		end = len(e.Src)
	} else {
		end += pos
	}
	line = strings.Count(e.Src[:start], "\n") + 1
	col = utf8.RuneCountInString(e.Src[start:pos]) + 1
	return line, col, strings.TrimSuffix(e.Src[start:end], "\r")
}

// errorf returns an *Error at pos.
func errorf(src string, pos int, format string, args ...any) *Error {
	return &Error{Src: src, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}
