"""The Gradio designer app: `python app.py` serves it on http://127.0.0.1:7860 (or $GRADIO_SERVER_NAME and
$GRADIO_SERVER_PORT, as any Gradio app). No pipeline logic here."""

from adgen.ui import build_ui, launch_ui

demo = build_ui()

if __name__ == "__main__":
    launch_ui(demo)
