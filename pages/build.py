"""The Build page (work in progress)."""
import streamlit as st

st.title("Build")
st.info("This page is being built.")
