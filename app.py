"""LayerLoom: build a network on a canvas, train it live, look inside it.

Run with `streamlit run app.py`. This file only routes (ui/router.py: the pages, their
navigation, and a teacher's lesson link, read once per session so it applies whichever page it
opens); each page lives in pages/. After the page, the session is remembered for a reload
(ui/reattach.py).
"""
from ui.reattach import remember_session
from ui.router import route

route().run()
remember_session()
