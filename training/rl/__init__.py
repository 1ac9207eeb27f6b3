"""Reinforcement learning on the tool-call reward: PPO with a KL penalty, and GRPO."""
