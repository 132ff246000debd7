"""Float64 PyTorch reference for still's KD losses on a top-k + tail teacher signal.

Written from the formulas (see src/still/model/kd_loss.h), with autograd for the gradient:
an independent check of the hand-written backward. Reads a JSON list of cases from argv[1]
and writes results to argv[2].
"""
import json
import math
import sys

import torch

torch.set_default_dtype(torch.float64)


def teacher_support(logp, log_tail, k, teacher_vocab, tau):
    lp = torch.tensor(logp) / tau
    n_tail = teacher_vocab - k
    if n_tail > 0 and math.isfinite(log_tail):
        tail = math.log(n_tail) + (log_tail - math.log(n_tail)) / tau
    else:
        tail = -math.inf
    full = torch.cat([lp, torch.tensor([tail])])
    return full - torch.logsumexp(full, 0)


def student_support(z, ids, tau):
    logq = torch.log_softmax(z / tau, 0)
    mask = torch.ones_like(z, dtype=torch.bool)
    mask[ids] = False
    tail = torch.logsumexp(logq[mask], 0) if mask.any() else torch.tensor(-math.inf)
    return torch.cat([logq[ids], tail.reshape(1)])


def divergence(lp, lq, kind, beta):
    p, q = lp.exp(), lq.exp()
    if kind == "fkl":
        keep = p > 0
        return (p[keep] * (lp[keep] - lq[keep])).sum()
    if kind == "rkl":
        return (q * (lq - lp.clamp(min=-50.0))).sum()
    m = beta * p + (1 - beta) * q
    lm = m.log()
    kp, kq = p > 0, q > 0
    return beta * (p[kp] * (lp[kp] - lm[kp])).sum() + (1 - beta) * (q[kq] * (lq[kq] - lm[kq])).sum()


def run(case):
    z = torch.tensor(case["z"], requires_grad=True)
    ids = torch.tensor(case["ids"], dtype=torch.long)
    k, tv, tau = case["k"], case["teacher_vocab"], case["temperature"]
    alpha, kind, beta, target = case["alpha"], case["kind"], case["beta"], case["target"]
    loss = torch.zeros(())
    if alpha > 0:
        lp = teacher_support(case["logp"], case["log_tail"], k, tv, tau)
        lq = student_support(z, ids, tau)
        loss = loss + alpha * tau * tau * divergence(lp, lq, kind, beta)
    if target >= 0 and alpha < 1:
        loss = loss - (1 - alpha) * torch.log_softmax(z, 0)[target]
    if loss.requires_grad:
        loss.backward()
        grad = z.grad.tolist()
    else:
        grad = [0.0] * len(case["z"])
    lp1 = teacher_support(case["logp"], case["log_tail"], k, tv, 1.0)
    lq1 = student_support(z.detach(), ids, 1.0)
    return {
        "loss": loss.item(),
        "grad": grad,
        "kl": divergence(lp1, lq1, "fkl", 0.5).item(),
        "log_tail_q": lq1[-1].item(),
    }


def main():
    cases = json.load(open(sys.argv[1]))
    json.dump([run(c) for c in cases], open(sys.argv[2], "w"))


if __name__ == "__main__":
    main()
