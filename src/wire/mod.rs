//! Borrowed views of DNS messages: header, question and OPT, parsed in place.
