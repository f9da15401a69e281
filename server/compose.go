package server

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"parley/crm"
	"parley/htmlsafe"
)

// maxReplyRequest bounds a reply sent as multipart/form-data: its files, its message
// part and the parts' headers.
const maxReplyRequest = crm.MaxReplyAttachmentsSize + maxBody + 64<<10

// replyRequest is the body of POST /api/v1/tickets/{id}/messages, or its "message" part.
type replyRequest struct {
	Body     string `json:"body"`
	Internal bool   `json:"internal"`
	Status   string `json:"status"`
	// CC of an email reply; absent (nil) copies the ticket's participants.
	CC []string `json:"cc"`
	// BCC of an email reply: sent blind, kept on the message.
	BCC []string `json:"bcc"`
	// Template sends a WhatsApp reply as an approved template; body is then unused.
	Template *templateIn `json:"template"`
}

// decodeReply reads a reply: a JSON object, or multipart/form-data with the same object
// in a "message" part and up to crm.MaxReplyAttachments "file" parts. It returns the
// files. Returns invalid or too_large (a file, or the files together, over the limits).
func decodeReply(w http.ResponseWriter, r *http.Request, req *replyRequest) ([]crm.NewAttachment, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		return nil, decode(w, r, maxBody, req)
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxReplyRequest)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, crm.Errorf(crm.EINVALID, "malformed multipart body: %v", err)
	}
	var files []crm.NewAttachment
	var total int
	seen := false
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		} else if err != nil {
			return nil, partError(err)
		}
		switch p.FormName() {
		case "message":
			if seen {
				return nil, crm.Errorf(crm.EINVALID, "a reply has one message part")
			}
			seen = true
			b, err := io.ReadAll(io.LimitReader(p, maxBody+1))
			if err != nil {
				return nil, partError(err)
			} else if len(b) > maxBody {
				return nil, crm.Errorf(crm.ETOOLARGE, "the message part is larger than %d bytes", maxBody)
			}
			part := r.Clone(r.Context())
			part.Body = io.NopCloser(bytes.NewReader(b))
			part.Header.Set("Content-Type", "application/json")
			if err := decode(w, part, maxBody, req); err != nil {
				return nil, err
			}
		case "file":
			if len(files) == crm.MaxReplyAttachments {
				return nil, crm.Errorf(crm.ETOOLARGE, "a reply takes at most %d files", crm.MaxReplyAttachments)
			}
			data, err := io.ReadAll(io.LimitReader(p, crm.MaxAttachmentSize+1))
			if err != nil {
				return nil, partError(err)
			}
			if len(data) > crm.MaxAttachmentSize {
				return nil, crm.Errorf(crm.ETOOLARGE, "file %q is larger than %d MiB", crm.CutRunes(p.FileName(), 100), crm.MaxAttachmentSize>>20)
			}
			if total += len(data); total > crm.MaxReplyAttachmentsSize {
				return nil, crm.Errorf(crm.ETOOLARGE, "the files of a reply are at most %d MiB together", crm.MaxReplyAttachmentsSize>>20)
			}
			ct := p.Header.Get("Content-Type")
			if ct == "" || ct == "application/octet-stream" {
				ct = http.DetectContentType(data)
			}
			files = append(files, crm.NewAttachment{Filename: p.FileName(), ContentType: ct, Data: data})
		default:
			return nil, crm.Errorf(crm.EINVALID, "unknown part %q: a reply has a message part and file parts", crm.CutRunes(p.FormName(), 50))
		}
	}
	if !seen {
		return nil, crm.Errorf(crm.EINVALID, "a multipart reply needs its message part (the JSON of the reply)")
	}
	return files, nil
}

// partError is the error of a multipart body that could not be read: too_large past
// maxReplyRequest, else invalid.
func partError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return crm.Errorf(crm.ETOOLARGE, "the files of a reply are at most %d MiB together", crm.MaxReplyAttachmentsSize>>20)
	}
	return crm.Errorf(crm.EINVALID, "malformed multipart body: %v", err)
}

// formatted renders the markup of a reply for the case it goes by email (the store uses
// it only then): the HTML part sanitized, the text part readable. A reply without any
// formatting is nil: it is sent and shown as the text it is.
func formatted(body string) *crm.FormattedBody {
	text, html := htmlsafe.Markup(body)
	for _, tag := range []string{"<strong>", "<em>", "<a ", "<ul>", "<ol>"} {
		if strings.Contains(html, tag) {
			return &crm.FormattedBody{Text: text, HTML: html}
		}
	}
	return nil
}
