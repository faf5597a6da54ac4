"""The web dashboard: server-rendered pages under /dashboard, opened by a link sent in chat."""
