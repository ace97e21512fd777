"""How fast this machine trains and predicts, measured against plain PyTorch (bench.py): the training loops
(loops.py), the data pipeline, TTA and padding (inputs.py), a whole fold against a hand-written one
(whole_fold.py), each task's inputs at real sizes (photos.py, essays.py), and the printed figures (report.py).
Delete this folder with bench.py, and train.py and predict.py still work."""
