#!/usr/bin/env python3
"""Labelled credit tables in the style of public credit data, with a known true model.

  credit_tables.py german SEED ROWS OUT.csv   German-credit style: ';'-separated, text codes
                                              (A11, A12, ...), numbers, '?' for missing, and
                                              a 1 (good) / 2 (bad) target `class`
  credit_tables.py gmsc SEED ROWS OUT.csv     "Give Me Some Credit" style: ','-separated, an
                                              unnamed row-number column, NA for missing, no
                                              segment column, 0/1 target SeriousDlqin2yrs

Each row's chance of being bad comes from a logistic model of its columns (below); the true
probability is written to OUT.csv.truth (one per row, same order), so a fitted card's AUC can
be set against the AUC of the truth itself (the best any card can do on the sample).
No downloaded data: everything is drawn from Python's random module with the given seed.
"""
import math
import random
import sys


def pick(rng, weights):
    r = rng.random() * sum(weights.values())
    for key, w in weights.items():
        r -= w
        if r <= 0:
            return key
    return key


def german(rng, rows):
    header = ["checking_status", "duration", "credit_history", "purpose", "credit_amount",
              "savings_status", "employment", "installment_commitment", "age", "housing",
              "class"]
    out, truth = [], []
    checking = {"A11": (0.27, 0.9), "A12": (0.27, 0.4), "A13": (0.06, -0.3), "A14": (0.40, -1.0)}
    history = {"A30": (0.04, 1.0), "A31": (0.05, 0.8), "A32": (0.53, 0.1), "A33": (0.09, 0.0),
               "A34": (0.29, -0.7)}
    purpose = {"A40": (0.23, 0.3), "A41": (0.10, -0.6), "A42": (0.18, 0.0), "A43": (0.28, -0.2),
               "A44": (0.012, 0.2), "A45": (0.022, 0.3), "A46": (0.05, 0.5), "A48": (0.009, -0.8),
               "A49": (0.097, 0.1), "A410": (0.012, 0.6)}
    savings = {"A61": (0.60, 0.3), "A62": (0.10, 0.1), "A63": (0.06, -0.3), "A64": (0.05, -0.6),
               "A65": (0.19, -0.4)}
    employment = {"A71": (0.06, 0.3), "A72": (0.17, 0.3), "A73": (0.34, 0.1), "A74": (0.17, -0.2),
                  "A75": (0.26, -0.2)}
    housing = {"A151": (0.18, 0.3), "A152": (0.71, -0.1), "A153": (0.11, 0.3)}
    for _ in range(rows):
        c = pick(rng, {k: v[0] for k, v in checking.items()})
        h = pick(rng, {k: v[0] for k, v in history.items()})
        p = pick(rng, {k: v[0] for k, v in purpose.items()})
        s = pick(rng, {k: v[0] for k, v in savings.items()})
        e = pick(rng, {k: v[0] for k, v in employment.items()})
        ho = pick(rng, {k: v[0] for k, v in housing.items()})
        duration = max(4, min(72, int(rng.lognormvariate(math.log(18), 0.5))))
        amount = int(rng.lognormvariate(math.log(2300), 0.7))
        rate = rng.choice([1, 2, 3, 4])
        age = max(19, min(75, int(rng.gauss(35, 11))))
        eta = (-1.2 + checking[c][1] + history[h][1] + purpose[p][1] + savings[s][1] +
               employment[e][1] + housing[ho][1] + 0.03 * (duration - 20) +
               0.00008 * (amount - 3000) + 0.15 * (rate - 2.5) - 0.015 * (age - 35))
        prob = 1 / (1 + math.exp(-eta))
        bad = rng.random() < prob
        age_text = "?" if rng.random() < 0.05 else str(age)
        savings_text = "?" if rng.random() < 0.03 else s
        out.append([c, str(duration), h, p, str(amount), savings_text, e, str(rate), age_text, ho,
                    "2" if bad else "1"])
        truth.append(prob)
    return ";", header, out, truth


def gmsc(rng, rows):
    header = ["", "SeriousDlqin2yrs", "RevolvingUtilizationOfUnsecuredLines", "age",
              "NumberOfTime30-59DaysPastDueNotWorse", "DebtRatio", "MonthlyIncome",
              "NumberOfOpenCreditLinesAndLoans", "NumberOfTimes90DaysLate",
              "NumberRealEstateLoansOrLines", "NumberOfTime60-89DaysPastDueNotWorse",
              "NumberOfDependents"]
    out, truth = [], []
    for i in range(rows):
        util = min(1.5, max(0.0, rng.betavariate(0.6, 1.4) * 1.1))
        age = max(21, min(95, int(rng.gauss(52, 14))))
        late30 = min(10, int(rng.expovariate(2.5)))
        debt = rng.lognormvariate(math.log(0.35), 0.8)
        income = int(rng.lognormvariate(math.log(5400), 0.6))
        lines = max(0, int(rng.gauss(8, 5)))
        late90 = min(10, int(rng.expovariate(5.0)))
        estate = max(0, int(rng.gauss(1, 1)))
        late60 = min(10, int(rng.expovariate(6.0)))
        deps = max(0, int(rng.expovariate(0.9)))
        eta = (-3.6 + 2.2 * util - 0.02 * (age - 52) + 0.55 * late30 + 0.9 * late90 +
               0.7 * late60 + 0.15 * min(debt, 3) - 0.00004 * (income - 5400) +
               0.05 * deps - 0.02 * lines)
        prob = 1 / (1 + math.exp(-eta))
        bad = rng.random() < prob
        income_text = "NA" if rng.random() < 0.2 else str(income)
        deps_text = "NA" if rng.random() < 0.03 else str(deps)
        out.append([str(i + 1), "1" if bad else "0", "%.6f" % util, str(age), str(late30),
                    "%.6f" % debt, income_text, str(lines), str(late90), str(estate), str(late60),
                    deps_text])
        truth.append(prob)
    return ",", header, out, truth


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ("german", "gmsc"):
        sys.stderr.write(__doc__)
        return 2
    rng = random.Random(int(sys.argv[2]))
    sep, header, rows, truth = (german if sys.argv[1] == "german" else gmsc)(rng, int(sys.argv[3]))
    with open(sys.argv[4], "w") as f:
        f.write(sep.join('"%s"' % h if h == "" else h for h in header) + "\n")
        for row in rows:
            f.write(sep.join(row) + "\n")
    with open(sys.argv[4] + ".truth", "w") as f:
        for p in truth:
            f.write("%.6f\n" % p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
