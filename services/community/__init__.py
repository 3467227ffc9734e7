"""The community service: users, works, follows, likes, comments, collections, feeds."""
