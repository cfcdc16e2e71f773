"""Front ends: the command line, live feedback, batch scoring, eval, history and the store."""
