"""The Train page (work in progress)."""
import streamlit as st

st.title("Train")
st.info("This page is being built.")
