using System.Security.Cryptography;

namespace LocalAgentService.Storage;

/// <summary>Object ids in the service's style: a type prefix and 24 random alphanumerics (e.g. <c>asst_…</c>).</summary>
internal static class Ids
{
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    public static string New(string prefix) => prefix + RandomNumberGenerator.GetString(Alphabet, 24);

    public const string Assistant = "asst_";
    public const string Thread = "thread_";
    public const string Message = "msg_";
    public const string Run = "run_";
    public const string Step = "step_";
    public const string Call = "call_";
    public const string Conversation = "conv_";
    public const string Response = "resp_";
    public const string FunctionCall = "fc_";
    public const string FunctionCallOutput = "fco_";
    public const string Item = "item_";
}
