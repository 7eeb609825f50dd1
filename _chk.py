import warnings
from sklearn.utils.estimator_checks import check_estimator
from skuda import DANNRegressor, SourceOnlyRegressor, DeepCORALRegressor
TINY = dict(max_epochs=8, lr=0.01, hidden_layer_sizes=(32,), random_state=0, device="cpu")
import sys
import time
for est in [SourceOnlyRegressor(**TINY), DANNRegressor(**TINY), DeepCORALRegressor(**TINY)][: int(sys.argv[1])]:
    t=time.time(); res = check_estimator(est, on_fail=None); print(time.time()-t)
    for r in res:
        if r["status"] != "passed":
            print(type(est).__name__, r["check_name"], r["status"], repr(r["exception"])[:300])
    print(type(est).__name__, "done", len(res))
