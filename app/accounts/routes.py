"""Accounts API: logins, tokens, my profile, staff management, a cell's grid workers."""

from __future__ import annotations

from datetime import UTC, datetime

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, empty

from app.accounts import grants, personal, service
from app.accounts.schemas import (
    AccountChangeList,
    DevLoginIn,
    GrantsUpdate,
    GridInfo,
    MeUpdate,
    PasswordLoginIn,
    PersonalData,
    RefreshIn,
    StaffCreate,
    TokenPair,
    UserOut,
    UserPage,
    UserQuery,
    UserUpdate,
    WechatLoginIn,
)
from app.core.api import client_ip, endpoint
from app.settings import Settings

bp = Blueprint("accounts")
TAG = "accounts"


@bp.post("/auth/wechat")
@endpoint(summary="Resident login with a wx.login code", tag=TAG, body=WechatLoginIn,
          response=TokenPair, auth=False, errors=(401, 403, 429, 502))
async def login_wechat(request: Request, body: WechatLoginIn) -> TokenPair:
    return await service.login_with_wechat(code=body.code, ip=client_ip(request))


async def login_dev(request: Request, body: DevLoginIn) -> TokenPair:
    return await service.login_dev(openid=body.openid, display_name=body.display_name,
                                   ip=client_ip(request))


def dev_blueprint(settings: Settings) -> Blueprint | None:
    """The dev login, only in dev/test without a WeChat app: in prod the route does not exist."""
    if not settings.dev_login_allowed:
        return None
    dev = Blueprint("accounts_dev")
    dev.add_route(
        endpoint(summary="Development login by a made-up openid (dev/test only)", tag=TAG,
                 body=DevLoginIn, response=TokenPair, auth=False, errors=(403, 429))(login_dev),
        "/auth/dev", methods=["POST"], name="login_dev",
    )
    return dev


@bp.post("/auth/login")
@endpoint(summary="Staff login with username and password", tag=TAG, body=PasswordLoginIn,
          response=TokenPair, auth=False, errors=(401, 429))
async def login_password(request: Request, body: PasswordLoginIn) -> TokenPair:
    return await service.login_with_password(username=body.username, password=body.password,
                                             ip=client_ip(request))


@bp.post("/auth/refresh")
@endpoint(summary="Rotate a refresh token into a new token pair", tag=TAG, body=RefreshIn,
          response=TokenPair, auth=False, errors=(401,))
async def refresh(request: Request, body: RefreshIn) -> TokenPair:
    return await service.refresh_tokens(refresh_token=body.refresh_token)


@bp.post("/auth/logout")
@endpoint(summary="Log out: revoke this refresh token's family", tag=TAG, body=RefreshIn,
          status=204)
async def logout(request: Request, body: RefreshIn) -> HTTPResponse:
    await service.logout(user=request.ctx.user, refresh_token=body.refresh_token)
    return empty()


@bp.get("/me")
@endpoint(summary="The logged-in user with roles and scopes", tag=TAG, response=UserOut)
async def me(request: Request) -> UserOut:
    return service.user_out(request.ctx.user)


@bp.patch("/me")
@endpoint(summary="Change my display name or home community", tag=TAG, body=MeUpdate,
          response=UserOut)
async def update_me(request: Request, body: MeUpdate) -> UserOut:
    return service.user_out(await service.update_me(user=request.ctx.user, changes=body))


@bp.post("/me/wechat")
@endpoint(summary="Bind my WeChat to my staff account (a wx.login code), for subscribe messages",
          tag=TAG, body=WechatLoginIn, response=UserOut, errors=(401, 409, 422, 502))
async def bind_wechat(request: Request, body: WechatLoginIn) -> UserOut:
    return service.user_out(await service.bind_wechat(user=request.ctx.user, code=body.code))


@bp.delete("/me/wechat")
@endpoint(summary="Unbind my WeChat: no more WeChat messages (in-app messages go on)", tag=TAG,
          response=UserOut)
async def unbind_wechat(request: Request) -> UserOut:
    return service.user_out(await service.unbind_wechat(user=request.ctx.user))


@bp.get("/me/data")
@endpoint(summary="我的数据: everything we hold about me, as JSON, with retention periods",
          tag=TAG, response=PersonalData)
async def my_data(request: Request) -> PersonalData:
    user = request.ctx.user
    return PersonalData(exported_at=datetime.now(UTC), profile=service.user_out(user),
                        sections=await personal.export(user=user),
                        retention=personal.retention())


@bp.delete("/me")
@endpoint(summary="注销: delete my resident account (reports stay, without my identity)",
          tag=TAG, status=204, errors=(403,))
async def delete_me(request: Request) -> HTTPResponse:
    await personal.delete_account(user=request.ctx.user)
    return empty()


@bp.post("/users")
@endpoint(summary="Create a staff account (admins, within their area)", tag=TAG,
          body=StaffCreate, response=UserOut, status=201, errors=(403, 409))
async def create_staff(request: Request, body: StaffCreate) -> UserOut:
    return service.user_out(await service.create_staff(actor=request.ctx.user, data=body))


@bp.get("/users")
@endpoint(summary="Users in my area subtree (staff managers)", tag=TAG, query=UserQuery,
          response=UserPage, errors=(403, 404))
async def list_users(request: Request, query: UserQuery) -> UserPage:
    return await service.list_users(viewer=request.ctx.user, query=query)


@bp.get("/users/<user_id:int>")
@endpoint(summary="One user's profile (yourself or someone in your area)", tag=TAG,
          response=UserOut, errors=(404,))
async def get_user(request: Request, user_id: int) -> UserOut:
    return service.user_out(await service.get_user_for(viewer=request.ctx.user, user_id=user_id))


@bp.patch("/users/<user_id:int>")
@endpoint(summary="Change or deactivate a user (admins, within their area)", tag=TAG,
          body=UserUpdate, response=UserOut, errors=(403, 404))
async def update_user(request: Request, user_id: int, body: UserUpdate) -> UserOut:
    user = await service.update_user(actor=request.ctx.user, user_id=user_id, changes=body)
    return service.user_out(user)


@bp.put("/users/<user_id:int>/grants")
@endpoint(summary="Replace a staff account's roles and scopes (admins, within their area; "
          "not their own); counts at the account's next request", tag=TAG, body=GrantsUpdate,
          response=UserOut, errors=(403, 404, 409, 422))
async def set_grants(request: Request, user_id: int, body: GrantsUpdate) -> UserOut:
    user = await grants.set_grants(actor=request.ctx.user, user_id=user_id, data=body)
    return service.user_out(user)


@bp.get("/users/<user_id:int>/changes")
@endpoint(summary="What admins changed on an account (grants, deactivation), newest first",
          tag=TAG, response=AccountChangeList, errors=(403, 404))
async def account_changes(request: Request, user_id: int) -> AccountChangeList:
    return AccountChangeList(items=await grants.history(actor=request.ctx.user, user_id=user_id))


# Under /areas because residents find it from their cell; here because it lists people (the
# area tree knows no users).
@bp.get("/areas/<code:str>/grid-workers")
@endpoint(summary="My grid (网格信息): the cell's grid workers and the community office",
          tag="areas", response=GridInfo, errors=(404,))
async def grid_workers(request: Request, code: str) -> GridInfo:
    return await service.grid_info(code=code)
