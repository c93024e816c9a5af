"""Probes: look inside a model without changing it (pure torch, no Streamlit).

Every probe runs the model in eval mode under its own hooks, restores the training flag and removes
its hooks afterwards, and never writes `.grad` on parameters, so a running job is undisturbed.
"""
from trainers.probes.activations import (activation_stats, capture_activations, feature_maps,
                                         first_dense_on_image, first_layer_filters)
from trainers.probes.attention import attention_maps
from trainers.probes.generative import (decode, generate, interpolate, latent_node, model_inputs,
                                        realness, sample_prior)
from trainers.probes.classification import classification_summary, predict, predict_proba
from trainers.probes.hooks import node_modules
from trainers.probes.saliency import integrated_gradients, saliency

__all__ = ["activation_stats", "attention_maps", "capture_activations", "classification_summary",
           "decode", "feature_maps", "first_dense_on_image", "first_layer_filters", "generate",
           "integrated_gradients", "interpolate", "latent_node", "model_inputs", "node_modules",
           "predict", "predict_proba", "realness", "saliency", "sample_prior"]
