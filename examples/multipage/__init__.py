"""A server-rendered, multi-page tool (Flask) carrying the ltik through links, forms and fetches."""
