"""The model: funnel flows in closed form, the policy solver, and rolling forecasts."""
