"""Batch engines: who generates the plates and who finishes the assets.

Every engine renders each micro-batch with generation.generate_many (work.render_plates) and
finishes each asset with pipeline.run (work.finish_asset); they differ only in where that runs.
"""
