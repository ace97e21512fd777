"""An experiment packed for a Kaggle notebook with the internet off (bundle.py): the code, each fold's weights,
the config, the wheels the notebook image lacks (pack.py), and the notebook that predicts (kernel.py). Delete this
folder with bundle.py, and train.py and predict.py still work."""
