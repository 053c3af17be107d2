namespace OllamaSim;

/// <summary>The failure injected into one request, if any.</summary>
internal enum Fault
{
    None,
    FailPrompt,
    Unavailable,
    Error,
    Hang,
    MidStream,
    NoDone,
}
