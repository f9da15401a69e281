package crm

// Limits of the files of an agent's reply or note. A mail of 20 MiB of files is about
// 27 MiB once encoded, which the common providers take (most refuse above 25 to 35 MB).
const (
	MaxReplyAttachments     = 10
	MaxReplyAttachmentsSize = 20 << 20
)

// FormattedBody is the body of an agent's reply by email rendered from its markup: the
// readable text of the mail's text part and the sanitized HTML of its HTML part.
type FormattedBody struct {
	Text string
	HTML string
}

// CanAttach reports whether a reply going by channel can carry files. Only email can:
// SMS, WhatsApp and voice would need public links to the files, Discord and the chat
// widget links their users may open. Notes carry files on every channel.
func CanAttach(channel string) bool { return channel == ChannelEmail }

// CheckReplyAttachments checks the files of an agent's reply or note against the limits.
// Returns too_large or invalid.
func CheckReplyAttachments(list []NewAttachment) error {
	if len(list) > MaxReplyAttachments {
		return Errorf(ETOOLARGE, "a reply takes at most %d files", MaxReplyAttachments)
	}
	var total int
	for _, a := range list {
		if len(a.Data) == 0 {
			return Errorf(EINVALID, "file %q is empty", CutRunes(a.Filename, 100))
		}
		if len(a.Data) > MaxAttachmentSize {
			return Errorf(ETOOLARGE, "file %q is larger than %d MiB", CutRunes(a.Filename, 100), MaxAttachmentSize>>20)
		}
		if len(a.ContentType) > 255 || len(a.Filename) > 1000 {
			return Errorf(EINVALID, "the name or type of file %q is too long", CutRunes(a.Filename, 100))
		}
		total += len(a.Data)
	}
	if total > MaxReplyAttachmentsSize {
		return Errorf(ETOOLARGE, "the files of a reply are at most %d MiB together", MaxReplyAttachmentsSize>>20)
	}
	return nil
}

// NoAttachments is the error of files on a reply whose channel cannot carry them.
func NoAttachments(ticketID int64, channel string) error {
	return Errorf(EINVALID, "files go only by email and in notes: replies on ticket %d go by %s, which carries no files", ticketID, channel)
}

// ParseBCC reads the Bcc list of an agent's reply as ParseCC reads its Cc. Returns
// invalid.
func ParseBCC(list []string) ([]Address, error) {
	out, err := ParseCC(list)
	if err != nil {
		return nil, Errorf(EINVALID, "b%s", ErrorMessage(err)) // "bcc: …"
	}
	return out, nil
}

// ShapeReply applies what of nm depends on the channel to the reply or note m, whose
// direction and channel are set: files only on a note or a reply by email, a Bcc only on
// a reply by email, and the formatted text and HTML on a reply by email. Returns invalid.
func ShapeReply(m *Message, nm *NewMessage) error {
	email := m.Direction == DirOut && m.Channel == ChannelEmail
	if len(nm.Attachments) > 0 && m.Direction == DirOut && !CanAttach(m.Channel) {
		return NoAttachments(m.TicketID, m.Channel)
	}
	if len(nm.BCC) > 0 {
		if !email {
			return Errorf(EINVALID, "bcc is only for replies by email")
		}
		list, err := ParseBCC(nm.BCC)
		if err != nil {
			return err
		}
		m.BCC = list
	}
	if email && nm.Formatted != nil && nm.Template == nil && nm.Formatted.Text != "" {
		m.Text, m.HTML = nm.Formatted.Text, nm.Formatted.HTML
	}
	return nil
}
