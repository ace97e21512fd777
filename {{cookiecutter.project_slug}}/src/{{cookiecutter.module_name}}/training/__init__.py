"""Training one network with Lightning: the LightningModule every task subclasses (module.py), the loss and mixup
(loss.py), the optimizer and schedules (schedules.py), weight averaging (averaging.py), the Trainer and its
callbacks (trainer.py, callbacks.py, checkpoints.py), the loggers (loggers.py) and Lightning's finders
(finders.py). Nothing here knows which task it trains, nor which fold."""
