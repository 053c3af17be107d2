namespace OrleansLlm.Client.Input;

/// <summary>A line of an OpenAI batch input file that can't be taken: its number (from 1) and why.</summary>
public sealed record OpenAiBadLine(int Line, string Why);
