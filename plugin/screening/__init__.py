# SPDX-License-Identifier: Apache-2.0
"""The review session: stalking screening (SLII), risk review, safety plan and wrap-up.

Risk review lives here, as the second step of one review, because it reads the screening's
answers (the pre-marks) and feeds the plan: a review moves through ``screening`` -> ``risk`` ->
``plan`` -> ``wrap-up`` and finishes into separate vault records and the facts of the minimal
note.  The risk review is a structured professional-judgement aid, never a score.  Its content
(risk factors, violence, most dangerous times, actions) is in :mod:`plugin.content`.

- :mod:`.views`: the blueprint; one route per step, the handouts and the public FHIR content.
- :mod:`.services`: :class:`ReviewService` (drafts in the vault, pre-marks, escalation, finish).
- :mod:`.forms`: each step's form, checked.
- :mod:`.fhir`: the finished records as FHIR QuestionnaireResponse and RiskAssessment.
"""
