"""The Inspect page (work in progress)."""
import streamlit as st

st.title("Inspect")
st.info("This page is being built.")
