"""Image bytes in, card answers out. See `engine.recognizer.Recognizer`.

Importing the engine changes nothing in the process: runtime settings (OpenMP, Faiss
threads) are applied by the process's starter with `engine.runtime.configure`.
"""
