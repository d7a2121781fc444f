package fakesmtp

import (
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
)

// Message is one message the server accepted.
type Message struct {
	// From is the envelope sender (MAIL FROM).
	From string
	// To are the envelope recipients (RCPT TO).
	To []string
	// Raw is the DATA as received.
	Raw []byte

	// Header is the parsed top-level header.
	Header mail.Header
	// Subject is the decoded Subject header.
	Subject string
	// ContentType is the top-level media type, e.g. "multipart/alternative".
	ContentType string
	// Text and HTML are the decoded text/plain and text/html parts.
	Text, HTML string
	// ParseErr is set when Raw could not be parsed as above.
	ParseErr error
}

func (m *Message) parse(r io.Reader) error {
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return fmt.Errorf("reading message: %w", err)
	}
	m.Header = msg.Header
	if m.Subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return fmt.Errorf("decoding subject: %w", err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return fmt.Errorf("parsing content type: %w", err)
	}
	m.ContentType = mt
	if !strings.HasPrefix(mt, "multipart/") {
		return m.addPart(mt, msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading part: %w", err)
		}
		pt, _, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil {
			return fmt.Errorf("parsing part content type: %w", err)
		}
		if err := m.addPart(pt, p.Header.Get("Content-Transfer-Encoding"), p); err != nil {
			return err
		}
	}
}

func (m *Message) addPart(mediaType, cte string, body io.Reader) error {
	switch strings.ToLower(cte) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, &stripNewlines{r: body})
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return fmt.Errorf("decoding %s part: %w", mediaType, err)
	}
	switch mediaType {
	case "text/plain":
		m.Text += string(b)
	case "text/html":
		m.HTML += string(b)
	}
	return nil
}

// stripNewlines drops CR and LF so a wrapped base64 body decodes.
type stripNewlines struct{ r io.Reader }

func (s *stripNewlines) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	j := 0
	for _, c := range p[:n] {
		if c != '\r' && c != '\n' {
			p[j] = c
			j++
		}
	}
	return j, err
}
