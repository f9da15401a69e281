package postgres

// SearchText returns the text the store indexes as to_tsvector('parley', SearchText(s)):
// a ticket's subject, a message's text, a customer's name and identity addresses (in the
// order of the identities' ids, joined by spaces). parley copy builds the search columns
// of the rows it copies from SQLite with it, so that they find what the store's own rows
// would.
func SearchText(s string) string { return searchText(s) }
